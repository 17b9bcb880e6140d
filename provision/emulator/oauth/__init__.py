"""OAuth 2.0 token endpoint (`POST /token`) for service-account key files pointed here."""
