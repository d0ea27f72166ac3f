"""The message families added for real users' reports: a positive and a near miss per rule.
The texts are written in each program's format (the format is cited in families.toml), not
copied from the corpus, so these tests check the mechanism, not one report.
"""

# Real messages are long single lines; they are kept whole.
# ruff: noqa: E501

from __future__ import annotations

import datetime

import pytest

from tlsdoctor.commands.explain import run_explain
from tlsdoctor.explain import analyse, find_clues
from tlsdoctor.explain.matcher import diagnose_command
from tlsdoctor.model import Verdict

NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)


def top(text: str) -> str:
    return run_explain(text).causes[0].id


def ids(text: str) -> set[str]:
    return {c.pattern_id for c in analyse(text, now=NOW).clues if any(w > 0 for _, w in c.causes)}


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        (
            "Guzzle: [curl] (#60) See https://curl.se/libcurl/c/libcurl-errors.html [url] https://x.example",
            "cert-untrusted",
        ),
        (
            "WordPress: cURL error 7: Failed to connect to api.example port 443: Connection refused",
            "tcp-refused",
        ),
        (
            "error: RPC failed; curl 56 GnuTLS recv error (-110): The TLS connection was non-properly terminated.",
            None,
        ),
        ("curl_easy_perform() failed (err: 28)", "tcp-timeout"),
        ("pycurl.error: (6, 'Could not resolve host: api.example')", "dns-nxdomain"),
        ("libcurl returned CURLE_PEER_FAILED_VERIFICATION for https://x.example", "cert-untrusted"),
        ("curl: (97) Can't complete SOCKS5 connection to example.org. (5)", "proxy-error"),
    ],
)
def test_curl_codes_in_every_form(text: str, cause: str | None) -> None:
    report = run_explain(text)
    assert any(c.pattern_id.startswith("curl.") for c in report.checks[0].observations), text
    if cause:
        assert cause in [c.id for c in report.causes[:3]], [c.id for c in report.causes]


def test_curl_number_without_curl_context_is_not_read() -> None:
    """Near miss: a bare "(60)" or "error 60" in prose is not a libcurl code."""
    assert not any(i.startswith("curl.") for i in ids("the job failed after (60) seconds, error 60 of 100"))


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("javax.net.ssl.SSLProtocolException: handshake alert:  unrecognized_name", "sni-required"),
        ("org.bouncycastle.tls.TlsFatalAlertReceived: certificate_required(116)", "client-cert-required"),
        ("tlslite.errors.TLSRemoteAlert: protocol_version", "protocol-mismatch"),
        ("*  TLSv1.3 (IN), TLS alert, unknown CA (560):", None),
        ("main, RECV TLSv1.2 ALERT:  fatal, handshake_failure", "cipher-mismatch"),
        ("The TLS protocol defined fatal alert code is 40.", "cipher-mismatch"),
    ],
)
def test_alerts_in_any_spelling(text: str, cause: str | None) -> None:
    found = ids(text)
    assert any(i.startswith("alert.") for i in found), found
    if cause:
        assert cause in [c.id for c in run_explain(text).causes[:3]]


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        (
            "<html><head><title>400 No required SSL certificate was sent</title></head>",
            "client-cert-required",
        ),
        ("<center>The SSL certificate error</center><hr><center>nginx</center>", "client-cert-required"),
        (
            "AH02032: Hostname a.example (default host as no SNI was provided) and hostname b.example provided via HTTP have no compatible SSL setup",
            "sni-required",
        ),
        ("HTTP/2 421 \n<h1>Misdirected Request</h1>", "sni-required"),
        (
            "upstream connect error or disconnect/reset before headers. reset reason: overflow",
            "server-overloaded",
        ),
        (
            "haproxy[12]: 10.0.0.9:5566 [07/Dec/2026:10:00:00.000] fe/1: SSL client certificate not trusted",
            "client-cert-required",
        ),
        (
            "System.ComponentModel.Win32Exception (0x80090322): The target principal name is incorrect",
            "cert-hostname-mismatch",
        ),
    ],
)
def test_server_pages_and_logs(text: str, cause: str) -> None:
    assert top(text) == cause


def test_plain_400_page_is_not_a_client_certificate_page() -> None:
    """Near miss: an nginx 400 page about something else."""
    assert "nginx.no-required-cert" not in ids("<title>400 Request Header Or Cookie Too Large</title>")


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("Error: tunneling socket could not be established, statusCode=407", "proxy-error"),
        ("curl: (56) Received HTTP code 403 from proxy after CONNECT", "proxy-error"),
        ("< HTTP/1.1 405 Method Not Allowed (after CONNECT example.org:443)", "proxy-error"),
        (
            'Get "https://example.org/": proxyconnect tcp: dial tcp 10.1.1.1:3128: connect: connection refused',
            "proxy-error",
        ),
        ("curl: (7) Unable to receive initial SOCKS5 response.", "proxy-error"),
        ("curl: (7) Can't complete SOCKS5 connection to 0.0.0.0:0. (1)", "proxy-error"),
    ],
)
def test_proxy_answers_as_tools_relay_them(text: str, cause: str) -> None:
    assert top(text) == cause


def test_https_proxy_url_for_a_plain_proxy() -> None:
    text = (
        "* Uses proxy env variable https_proxy == 'https://10.0.0.1:8080'\n"
        "* OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to 10.0.0.1:8080"
    )
    report = run_explain(text)
    assert "proxy-error" in [c.id for c in report.causes[:2]]
    assert "--proxy https://10.0.0.1:8080" in report.extra["next_checks"][0]
    # near miss: an http:// proxy URL is not the https:// mistake
    assert "proxy.https-scheme" not in ids("* Uses proxy env variable https_proxy == 'http://10.0.0.1:8080'")


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("This site can't be reached ... NET::ERR_CERT_COMMON_NAME_INVALID", "cert-hostname-mismatch"),
        ("Error code: SEC_ERROR_EXPIRED_CERTIFICATE", "cert-expired"),
        ("Error Code: ERROR_INTERNET_SEC_CERT_REVOKED", "cert-revoked"),
        ("Error code: SSL_ERROR_RX_RECORD_TOO_LONG", "server-not-tls"),
        (
            "Your clock is behind. A private connection to example.org can't be established",
            "client-clock-skew",
        ),
        ("ERR_SSL_VERSION_OR_CIPHER_MISMATCH", "protocol-mismatch"),
    ],
)
def test_browser_codes(text: str, cause: str) -> None:
    assert top(text) == cause


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        (
            "x509: certificate has expired or is not yet valid: current time 1970-01-01T00:01:10Z is before 2025-01-01T00:00:00Z",
            "client-clock-skew",
        ),
        (
            "x509: certificate has expired or is not yet valid: current time 2026-05-30T10:00:00Z is after 2026-03-01T00:00:00Z",
            "cert-expired",
        ),
        (
            "x509: certificate has expired or is not yet valid: current time 2026-05-30T10:00:00+02:00 is before 2026-05-30T08:30:00Z",
            "cert-not-yet-valid",
        ),
        (
            "x509: certificate has expired or is not yet valid: current time 2026-01-01T10:00:00Z is before 2026-05-01T00:00:00Z",
            "client-clock-skew",
        ),
        (
            "curl: (60) SSL certificate problem: certificate has expired\n$ date\nSat Jan  1 00:00:42 UTC 2000",
            "client-clock-skew",
        ),
        (
            "ERROR: The certificate of 'x.example' is not yet activated.\n- Date | Mon 2 Mar 10:00:00 UTC 2020\n- Kernel | #1 SMP Tue Apr 5 12:00:00 UTC 2022",
            "client-clock-skew",
        ),
    ],
)
def test_dates_are_compared(text: str, cause: str) -> None:
    report = run_explain(text)
    assert report.causes[0].id == cause, [(c.id, c.confidence) for c in report.causes]


def test_plausible_date_without_a_later_reference_says_nothing() -> None:
    """Near miss: a normal local date and a certificate error give no time clue."""
    assert not {
        i
        for i in ids("curl: (60) SSL certificate problem: certificate has expired\nDate | 2026-05-30")
        if i.startswith("time.")
    }


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        (
            'Error parsing HTTP 408 response body: "<html><body><h1>408 Request Time-out</h1>\\nYour browser didn\'t send a complete request in time."',
            "path-mtu-blackhole",
        ),
        (
            "*   Trying 10.0.0.1:443...\n* Connected to x.example port 443\n* TLSv1.3 (OUT), TLS handshake, Client hello (1):\n* Operation timed out after 30001 milliseconds with 0 bytes received",
            "firewall-drop",
        ),
        (
            "OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to x.example:443\nit happens only over our WireGuard tunnel, MTU 1420",
            "path-mtu-blackhole",
        ),
    ],
)
def test_mtu_signatures(text: str, cause: str) -> None:
    assert cause in [c.id for c in run_explain(text).causes[:2]]


# ---------------------------------------------------------------- the description as evidence
ERROR = "unable to get local issuer certificate"


@pytest.mark.parametrize(
    ("prose", "cause"),
    [
        ("We are behind Zscaler on the office network.", "tls-interception"),
        ("Kaspersky HTTPS scanning is enabled on this laptop.", "tls-interception"),
        ("Our server uses an internal CA; works in the browser but not in curl.", "cert-chain-incomplete"),
    ],
)
def test_description_reorders_what_the_error_leaves_open(prose: str, cause: str) -> None:
    report = run_explain(f"{ERROR}\n\n{prose}")
    assert report.causes[0].id == cause, [(c.id, c.confidence) for c in report.causes]
    assert any(e.observation.startswith("description: ") for c in report.causes for e in c.evidence)


def test_description_alone_never_outranks_a_decisive_error() -> None:
    text = "curl: (60) SSL certificate problem: certificate has expired\n\nWe are behind Zscaler on the corporate network."
    report = run_explain(text)
    assert report.causes[0].id == "cert-expired"
    prose_only = next(c for c in report.causes if c.id == "proxy-required")
    assert prose_only.confidence < report.causes[0].confidence


def test_description_alone_never_makes_a_fault() -> None:
    report = run_explain("it fails behind Zscaler on the corporate network over the VPN, MTU 1400")
    assert report.causes and report.verdict is Verdict.INCONCLUSIVE
    assert all(c.confidence < 0.5 for c in report.causes)


def test_tool_output_words_are_not_read_as_description() -> None:
    """Near miss: curl -v prints CA paths and TLS versions; they are not the user's words."""
    text = "*  CAfile: /etc/ssl/certs/ca-certificates.crt\n* TLSv1.3 (OUT), TLS handshake, Client hello (1):"
    assert not {i for i in ids(text) if i.startswith("description.")}


# ---------------------------------------------------------------- never an empty answer
@pytest.mark.parametrize(
    "text",
    ["the https handshake to our backend keeps failing", "socket error talking to the billing service"],
)
def test_never_empty_for_tls_or_connection_text(text: str) -> None:
    report = run_explain(text)
    assert report.causes and report.verdict is Verdict.INCONCLUSIVE
    assert report.extra["next_checks"][0].startswith("tlsdoctor diagnose ")


def test_unrelated_text_gets_no_candidates() -> None:
    assert run_explain("the quarterly report is due on friday").causes == ()


@pytest.mark.parametrize(
    ("text", "option"),
    [
        ("smtplib.SMTP_SSL to mail.example.org port 587: [SSL: WRONG_VERSION_NUMBER]", "--starttls smtp"),
        ("tlsv1 unrecognized name from 203.0.113.7", "--servername NAME"),
        ("x509: certificate is not yet valid; the board has no RTC", "--ntp pool.ntp.org"),
        ("curl: (56) Received HTTP code 407 from proxy after CONNECT", "--proxy http://PROXY:PORT"),
        (
            "https_proxy=http://user:secret@proxy.corp:3128 curl https://x.example",
            "--proxy http://proxy.corp:3128",
        ),
    ],
)
def test_diagnose_command_carries_the_options_the_text_suggests(text: str, option: str) -> None:
    command = diagnose_command(text, analyse(text).target)
    assert command.startswith("tlsdoctor diagnose ") and option in command
    assert "secret" not in command


def test_every_new_pattern_is_found_by_its_own_positive() -> None:
    """The positives above cover each new family; this near miss checks they are not trivially broad."""
    assert not find_clues("everything works fine today")


# ---------------------------------------------------------------- long pastes
def test_long_log_keeps_head_description_and_late_error() -> None:
    noise = "2026-12-07 10:00:00 INFO request handled in 12 ms path=/api/v1/items status=200\n" * 4000
    text = (
        "We are behind Zscaler.\n"
        + noise
        + "npm ERR! code UNABLE_TO_GET_ISSUER_CERT_LOCALLY\n"
        + noise[:2000]
    )
    report = run_explain(text)
    assert "long input" in report.checks[0].summary
    assert report.causes[0].id == "tls-interception"


def test_focus_keeps_lines_around_stems_and_drops_repeats() -> None:
    from tlsdoctor.explain.focus import FOCUS_MAX, focus

    filler = "".join(f"line {i} nothing to see\n" for i in range(20000))
    text = (
        filler[: len(filler) // 2]
        + "x509: certificate signed by unknown authority\n"
        + filler[len(filler) // 2 :]
    )
    focused, cut = focus(text + "same line\n" * 5000)
    assert cut and len(focused) <= FOCUS_MAX
    assert "unknown authority" in focused and focused.count("same line") == 1
    assert focus("short text")[1] is False


def test_validity_message_without_the_x509_colon() -> None:
    """The Go validity message is read as such however it is quoted (never as a plain expiry)."""
    found = ids("docker: github x509 certificate has expired or is not yet valid")
    assert "go.validity" in found and "openssl.cert-expired" not in found


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        (
            "javax.net.ssl.SSLHandshakeException: java.security.cert.CertPathValidatorException: Trust anchor for certification path not found.",
            "cert-chain-incomplete",
        ),
        ("Error 526 Ray ID: 8f00 • Invalid SSL certificate", "cert-untrusted"),
        ("Error 521 Ray ID: 8f01 • Web server is down", "tcp-refused"),
        (
            "*  subject: O=Acme Co; CN=Kubernetes Ingress Controller Fake Certificate",
            "cert-hostname-mismatch",
        ),
        ("*  issuer: C=US; O=(STAGING) Let's Encrypt; CN=(STAGING) Artificial Apricot R3", "cert-untrusted"),
        ("This site can't provide a secure connection ... ERR_SSL_OBSOLETE_VERSION", "protocol-mismatch"),
        ("error:0A00017A:SSL routines::wrong signature type", "client-tls-policy"),
    ],
)
def test_more_platform_wordings(text: str, cause: str) -> None:
    assert top(text) == cause


def test_cloudflare_numbers_need_their_context() -> None:
    """Near miss: 525 as a plain number is not Cloudflare's error page."""
    assert not {i for i in ids("processed 525 records in 526 ms") if i.startswith("cloudflare.")}


def test_insecure_flag_points_at_the_certificate_not_the_network() -> None:
    report = run_explain("OpenSSL SSL_connect: SSL_ERROR_SYSCALL\n\nIt works with curl -k though.")
    assert {"tls-interception", "cert-untrusted"} & {c.id for c in report.causes[:4]}
    assert "description.insecure-works" not in ids("curl -kv https://x.example returned 200")


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        (
            "* TLSv1.3 (OUT), TLS alert, unknown CA (560):\n* SSL certificate problem: unable to get local issuer certificate",
            "cert-chain-incomplete",
        ),
        ("main, SEND TLSv1.2 ALERT:  fatal, description = certificate_expired", "cert-expired"),
        ("remote error... no: local error: tls: protocol version not supported", "protocol-mismatch"),
    ],
)
def test_alerts_this_side_sent(text: str, cause: str) -> None:
    assert any(i.startswith("sentalert.") for i in ids(text))
    assert cause in [c.id for c in run_explain(text).causes[:3]]


def test_received_alert_is_not_read_as_sent() -> None:
    """Near miss: the same alert arriving (IN) is the peer's refusal, not ours."""
    found = ids("* TLSv1.3 (IN), TLS alert, unknown CA (560):")
    assert "alert.48" in found and not any(i.startswith("sentalert.") for i in found)
