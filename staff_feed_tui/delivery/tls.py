"""TLS for SMTP: one way to build the context, and a rejected certificate said in words.

The context always checks X.509 strictly (`VERIFY_X509_STRICT`, the default of Python 3.13's
`ssl.create_default_context`), so a server's certificate is judged the same on every Python the project supports;
a company CA that lacks what strict checking requires is then named by `staff-feed doctor`, not met by surprise
after an upgrade.
"""

from __future__ import annotations

import ssl

# OpenSSL's words for what strict checking found missing, and ours for the operator.
_LACKS = {
    "ca cert does not include key usage extension":
        "the certificate's CA lacks the Key Usage extension that strict checking requires",
    "missing authority key identifier":
        "the certificate lacks the Authority Key Identifier extension that strict checking requires",
    "missing subject key identifier":
        "the certificate's CA lacks the Subject Key Identifier extension that strict checking requires",
    "basic constraints of ca cert not marked critical":
        "the certificate's CA does not mark Basic Constraints critical, as strict checking requires",
    "unable to get local issuer certificate":
        "the certificate is not signed by a CA this host trusts (set email.ca_file to the company's CA)",
    "self-signed certificate":
        "the certificate is self-signed and not trusted (set email.ca_file to it)",
    "self-signed certificate in certificate chain":
        "the certificate's chain ends in a CA this host does not trust (set email.ca_file to it)",
    "certificate has expired": "the certificate has expired",
    "certificate is not yet valid": "the certificate is not valid yet (check this host's clock)",
}


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """The system's trusted CAs (or `ca_file`), hostname checking, and strict X.509 checking on every version."""
    context = ssl.create_default_context(cafile=ca_file)
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


def certificate_problem(exc: BaseException) -> str | None:
    """What a rejected certificate lacks or gets wrong, in words; None when `exc` is no certificate rejection."""
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ssl.SSLCertVerificationError):
            message = (error.verify_message or "").strip()
            if message.lower().startswith("hostname mismatch"):
                return f"the certificate is not for this host name ({message})"
            return _LACKS.get(message.lower(), f"the certificate was rejected: {message or error}")
        error = error.__cause__ or error.__context__
    return None
