"""The `--debug` request trace redacts credentials that can travel in a query string."""

from __future__ import annotations

import pytest

from provision.gcp.api import trace_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x/v1/a?alt=json", "https://x/v1/a?alt=json"),
        (
            "https://x/v1/a?access_token=ya29.abc&alt=json",
            "https://x/v1/a?access_token=[redacted]&alt=json",
        ),
        ("https://x/o?alt=media&key=AIzaSECRET", "https://x/o?alt=media&key=[redacted]"),
        ("https://x/o?X-Goog-Signature=abcdef&b=1", "https://x/o?X-Goog-Signature=[redacted]&b=1"),
        ("https://x/v1/a?pageToken=next", "https://x/v1/a?pageToken=next"),
    ],
)
def test_trace_url_redacts_query_credentials(url: str, expected: str) -> None:
    assert trace_url(url) == expected
