"""OAuth 2.0 token endpoint (`POST /token`) for credentials files whose `token_uri` is here."""
