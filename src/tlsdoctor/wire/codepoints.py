"""Open enums for TLS code points.

Peer data carries numbers we may never have heard of (new groups, GREASE, vendor
extensions). Each enum here accepts *any* value in its range: known values are members,
unknown ones become nameless pseudo-members that compare equal to their number and print
as hex, e.g. ``str(NamedGroup(0x1234)) == "0x1234"`` (STYLE rule 3, after dnspython's
``dns/enum.py`` and h2's ``_error_code_from_int``). Nothing here raises ``KeyError`` on
peer data. Pseudo-members are not cached, so a hostile peer cannot grow memory.

Sources: IANA "Transport Layer Security (TLS) Parameters" and "TLS ExtensionType Values"
registries; RFC 8446 §4 and §B.3, RFC 5246 §7.2, RFC 6101 (SSL 3.0), RFC 7507, RFC 8701.
Cipher suites are numerous and data-driven: see :class:`tlsdoctor.wire.registry.CipherSuite`.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

__all__ = [
    "AlertDescription",
    "AlertLevel",
    "CertificateType",
    "CompressionMethod",
    "ContentType",
    "ExtensionType",
    "HandshakeType",
    "NamedGroup",
    "OpenIntEnum",
    "ProtocolVersion",
    "SignatureScheme",
    "is_grease",
]


def is_grease(value: int) -> bool:
    """RFC 8701 §2: GREASE values are 0x?A?A with both bytes equal (16-bit spaces)."""
    return value & 0x0F0F == 0x0A0A and value >> 8 == value & 0xFF


class OpenIntEnum(IntEnum):
    """IntEnum that accepts unknown values of its width and prints them as hex."""

    @classmethod
    def wire_width(cls) -> int:
        """Bytes on the wire; the enums of 1-byte code points override this."""
        return 2

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            width = cls.wire_width()
            if 0 <= value < 1 << (8 * width):
                pseudo = int.__new__(cls, value)
                pseudo._name_ = f"0x{value:0{2 * width}x}"
                pseudo._value_ = value
                return pseudo
        return None

    @property
    def known(self) -> bool:
        """True for a registered member, False for a number we only carry along."""
        return type(self)._value2member_map_.get(int(self)) is self

    def __str__(self) -> str:
        return self._name_

    def __format__(self, spec: str) -> str:
        return str(self) if not spec else int.__format__(int(self), spec)


class ProtocolVersion(OpenIntEnum):
    """Record/handshake version numbers (RFC 6101 §5.2.1, RFC 8446 §4.2.1)."""

    SSL2 = 0x0002
    SSL3 = 0x0300
    TLS1_0 = 0x0301
    TLS1_1 = 0x0302
    TLS1_2 = 0x0303
    TLS1_3 = 0x0304

    def __str__(self) -> str:
        labels = {
            0x0002: "SSLv2",
            0x0300: "SSLv3",
            0x0301: "TLSv1.0",
            0x0302: "TLSv1.1",
            0x0303: "TLSv1.2",
            0x0304: "TLSv1.3",
        }
        if int(self) in labels:
            return labels[int(self)]
        if int(self) >> 8 == 0x7F:  # RFC 8446 drafts negotiated 0x7fNN
            return f"TLSv1.3-draft{int(self) & 0xFF}"
        return self._name_


class ContentType(OpenIntEnum):
    """Record content types (RFC 8446 §5.1, RFC 6520, RFC 9146, RFC 9147)."""

    @classmethod
    def wire_width(cls) -> int:
        return 1

    CHANGE_CIPHER_SPEC = 20
    ALERT = 21
    HANDSHAKE = 22
    APPLICATION_DATA = 23
    HEARTBEAT = 24
    TLS12_CID = 25
    ACK = 26


class HandshakeType(OpenIntEnum):
    """Handshake message types (RFC 8446 §4, RFC 5246 §7.4, RFC 6347, RFC 8879)."""

    @classmethod
    def wire_width(cls) -> int:
        return 1

    HELLO_REQUEST = 0
    CLIENT_HELLO = 1
    SERVER_HELLO = 2
    HELLO_VERIFY_REQUEST = 3
    NEW_SESSION_TICKET = 4
    END_OF_EARLY_DATA = 5
    HELLO_RETRY_REQUEST = 6  # reserved; TLS 1.3 HRR is a ServerHello (§4.1.3)
    ENCRYPTED_EXTENSIONS = 8
    REQUEST_CONNECTION_ID = 9
    NEW_CONNECTION_ID = 10
    CERTIFICATE = 11
    SERVER_KEY_EXCHANGE = 12
    CERTIFICATE_REQUEST = 13
    SERVER_HELLO_DONE = 14
    CERTIFICATE_VERIFY = 15
    CLIENT_KEY_EXCHANGE = 16
    CLIENT_CERTIFICATE_REQUEST = 17
    FINISHED = 20
    CERTIFICATE_URL = 21
    CERTIFICATE_STATUS = 22
    SUPPLEMENTAL_DATA = 23
    KEY_UPDATE = 24
    COMPRESSED_CERTIFICATE = 25
    EKT_KEY = 26
    MESSAGE_HASH = 254


class AlertLevel(OpenIntEnum):
    """RFC 5246 §7.2 (TLS 1.3 keeps the byte but ignores it, RFC 8446 §6)."""

    @classmethod
    def wire_width(cls) -> int:
        return 1

    WARNING = 1
    FATAL = 2


class AlertDescription(OpenIntEnum):
    """RFC 8446 §6, RFC 5246 §7.2, RFC 6101 §5.4.2, RFC 7507 §2, RFC 7301 §3.2, RFC 9849."""

    @classmethod
    def wire_width(cls) -> int:
        return 1

    CLOSE_NOTIFY = 0
    UNEXPECTED_MESSAGE = 10
    BAD_RECORD_MAC = 20
    DECRYPTION_FAILED = 21  # RESERVED since TLS 1.2
    RECORD_OVERFLOW = 22
    DECOMPRESSION_FAILURE = 30  # RESERVED in TLS 1.3
    HANDSHAKE_FAILURE = 40
    NO_CERTIFICATE = 41  # SSL 3.0 only
    BAD_CERTIFICATE = 42
    UNSUPPORTED_CERTIFICATE = 43
    CERTIFICATE_REVOKED = 44
    CERTIFICATE_EXPIRED = 45
    CERTIFICATE_UNKNOWN = 46
    ILLEGAL_PARAMETER = 47
    UNKNOWN_CA = 48
    ACCESS_DENIED = 49
    DECODE_ERROR = 50
    DECRYPT_ERROR = 51
    TOO_MANY_CIDS_REQUESTED = 52  # RFC 9147
    EXPORT_RESTRICTION = 60  # RESERVED since TLS 1.1
    PROTOCOL_VERSION = 70
    INSUFFICIENT_SECURITY = 71
    INTERNAL_ERROR = 80
    INAPPROPRIATE_FALLBACK = 86  # RFC 7507
    USER_CANCELED = 90
    NO_RENEGOTIATION = 100  # RESERVED in TLS 1.3
    MISSING_EXTENSION = 109
    UNSUPPORTED_EXTENSION = 110
    CERTIFICATE_UNOBTAINABLE = 111  # RFC 6066, RESERVED in TLS 1.3
    UNRECOGNIZED_NAME = 112
    BAD_CERTIFICATE_STATUS_RESPONSE = 113
    BAD_CERTIFICATE_HASH_VALUE = 114  # RFC 6066, RESERVED in TLS 1.3
    UNKNOWN_PSK_IDENTITY = 115
    CERTIFICATE_REQUIRED = 116
    GENERAL_ERROR = 117  # RFC 8446bis
    NO_APPLICATION_PROTOCOL = 120  # RFC 7301
    ECH_REQUIRED = 121


class CompressionMethod(OpenIntEnum):
    """RFC 5246 §7.4.1.2, RFC 3749 (DEFLATE), RFC 3943 (LZS)."""

    @classmethod
    def wire_width(cls) -> int:
        return 1

    NULL = 0
    DEFLATE = 1
    LZS = 64


class CertificateType(OpenIntEnum):
    """ClientCertificateType for TLS <= 1.2 CertificateRequest (RFC 5246 §7.4.4, RFC 8422)."""

    @classmethod
    def wire_width(cls) -> int:
        return 1

    RSA_SIGN = 1
    DSS_SIGN = 2
    RSA_FIXED_DH = 3
    DSS_FIXED_DH = 4
    RSA_EPHEMERAL_DH = 5
    DSS_EPHEMERAL_DH = 6
    FORTEZZA_DMS = 20
    ECDSA_SIGN = 64
    RSA_FIXED_ECDH = 65
    ECDSA_FIXED_ECDH = 66
    GOST_SIGN256 = 67
    GOST_SIGN512 = 68


class ExtensionType(OpenIntEnum):
    """IANA "TLS ExtensionType Values" (RFC 8446 §4.2 and the RFCs named there)."""

    SERVER_NAME = 0
    MAX_FRAGMENT_LENGTH = 1
    CLIENT_CERTIFICATE_URL = 2
    TRUSTED_CA_KEYS = 3
    TRUNCATED_HMAC = 4
    STATUS_REQUEST = 5
    USER_MAPPING = 6
    CLIENT_AUTHZ = 7
    SERVER_AUTHZ = 8
    CERT_TYPE = 9
    SUPPORTED_GROUPS = 10
    EC_POINT_FORMATS = 11
    SRP = 12
    SIGNATURE_ALGORITHMS = 13
    USE_SRTP = 14
    HEARTBEAT = 15
    APPLICATION_LAYER_PROTOCOL_NEGOTIATION = 16
    STATUS_REQUEST_V2 = 17
    SIGNED_CERTIFICATE_TIMESTAMP = 18
    CLIENT_CERTIFICATE_TYPE = 19
    SERVER_CERTIFICATE_TYPE = 20
    PADDING = 21
    ENCRYPT_THEN_MAC = 22
    EXTENDED_MASTER_SECRET = 23
    TOKEN_BINDING = 24
    CACHED_INFO = 25
    TLS_LTS = 26
    COMPRESS_CERTIFICATE = 27
    RECORD_SIZE_LIMIT = 28
    PWD_PROTECT = 29
    PWD_CLEAR = 30
    PASSWORD_SALT = 31
    TICKET_PINNING = 32
    TLS_CERT_WITH_EXTERN_PSK = 33
    DELEGATED_CREDENTIAL = 34
    SESSION_TICKET = 35
    TLMSP = 36
    TLMSP_PROXYING = 37
    TLMSP_DELEGATE = 38
    SUPPORTED_EKT_CIPHERS = 39
    PRE_SHARED_KEY = 41
    EARLY_DATA = 42
    SUPPORTED_VERSIONS = 43
    COOKIE = 44
    PSK_KEY_EXCHANGE_MODES = 45
    CERTIFICATE_AUTHORITIES = 47
    OID_FILTERS = 48
    POST_HANDSHAKE_AUTH = 49
    SIGNATURE_ALGORITHMS_CERT = 50
    KEY_SHARE = 51
    TRANSPARENCY_INFO = 52
    CONNECTION_ID_DEPRECATED = 53
    CONNECTION_ID = 54
    EXTERNAL_ID_HASH = 55
    EXTERNAL_SESSION_ID = 56
    QUIC_TRANSPORT_PARAMETERS = 57
    TICKET_REQUEST = 58
    DNSSEC_CHAIN = 59
    SEQUENCE_NUMBER_ENCRYPTION_ALGORITHMS = 60
    RRC = 61
    TLS_FLAGS = 62
    NEXT_PROTOCOL_NEGOTIATION = 13172  # draft-agl-tls-nextprotoneg, not IANA
    APPLICATION_SETTINGS_OLD = 17513  # ALPS draft, Chrome
    APPLICATION_SETTINGS = 17613
    ECH_OUTER_EXTENSIONS = 0xFD00
    ENCRYPTED_CLIENT_HELLO = 0xFE0D
    RENEGOTIATION_INFO = 0xFF01  # RFC 5746


class NamedGroup(OpenIntEnum):
    """IANA "TLS Supported Groups" (RFC 8422 §5.1.1, RFC 7919, RFC 8446 §4.2.7,
    draft-ietf-tls-ecdhe-mlkem, draft-ietf-tls-mlkem). Details in ``registry.GROUPS``."""

    SECT163K1 = 1
    SECT163R1 = 2
    SECT163R2 = 3
    SECT193R1 = 4
    SECT193R2 = 5
    SECT233K1 = 6
    SECT233R1 = 7
    SECT239K1 = 8
    SECT283K1 = 9
    SECT283R1 = 10
    SECT409K1 = 11
    SECT409R1 = 12
    SECT571K1 = 13
    SECT571R1 = 14
    SECP160K1 = 15
    SECP160R1 = 16
    SECP160R2 = 17
    SECP192K1 = 18
    SECP192R1 = 19
    SECP224K1 = 20
    SECP224R1 = 21
    SECP256K1 = 22
    SECP256R1 = 23
    SECP384R1 = 24
    SECP521R1 = 25
    BRAINPOOLP256R1 = 26
    BRAINPOOLP384R1 = 27
    BRAINPOOLP512R1 = 28
    X25519 = 29
    X448 = 30
    BRAINPOOLP256R1TLS13 = 31
    BRAINPOOLP384R1TLS13 = 32
    BRAINPOOLP512R1TLS13 = 33
    GC256A = 34
    GC256B = 35
    GC256C = 36
    GC256D = 37
    GC512A = 38
    GC512B = 39
    GC512C = 40
    CURVESM2 = 41
    FFDHE2048 = 256
    FFDHE3072 = 257
    FFDHE4096 = 258
    FFDHE6144 = 259
    FFDHE8192 = 260
    MLKEM512 = 0x0200
    MLKEM768 = 0x0201
    MLKEM1024 = 0x0202
    SECP256R1MLKEM512 = 0x11E9
    MLKEM512X25519 = 0x11EA
    SECP256R1MLKEM768 = 0x11EB
    X25519MLKEM768 = 0x11EC
    SECP384R1MLKEM1024 = 0x11ED
    CURVESM2MLKEM768 = 0x11EE
    X25519KYBER768DRAFT00 = 0x6399  # obsolete pre-standard hybrid
    SECP256R1KYBER768DRAFT00 = 0x639A
    ARBITRARY_EXPLICIT_PRIME_CURVES = 0xFF01
    ARBITRARY_EXPLICIT_CHAR2_CURVES = 0xFF02


class SignatureScheme(OpenIntEnum):
    """RFC 8446 §4.2.3 SignatureScheme; TLS 1.2 (hash, signature) pairs share the space
    (RFC 5246 §7.4.1.4.1). Details in ``registry.SIGNATURE_SCHEMES``."""

    RSA_PKCS1_MD5 = 0x0101
    RSA_PKCS1_SHA1 = 0x0201
    DSA_SHA1 = 0x0202
    ECDSA_SHA1 = 0x0203
    RSA_PKCS1_SHA224 = 0x0301
    DSA_SHA224 = 0x0302
    ECDSA_SHA224 = 0x0303
    RSA_PKCS1_SHA256 = 0x0401
    RSA_PKCS1_SHA256_LEGACY = 0x0420
    DSA_SHA256 = 0x0402
    ECDSA_SECP256R1_SHA256 = 0x0403
    RSA_PKCS1_SHA384 = 0x0501
    RSA_PKCS1_SHA384_LEGACY = 0x0520
    DSA_SHA384 = 0x0502
    ECDSA_SECP384R1_SHA384 = 0x0503
    RSA_PKCS1_SHA512 = 0x0601
    RSA_PKCS1_SHA512_LEGACY = 0x0620
    DSA_SHA512 = 0x0602
    ECDSA_SECP521R1_SHA512 = 0x0603
    ECCSI_SHA256 = 0x0704
    ISO_IBS1 = 0x0705
    ISO_IBS2 = 0x0706
    ISO_CHINESE_IBS = 0x0707
    SM2SIG_SM3 = 0x0708
    GOSTR34102012_256A = 0x0709
    GOSTR34102012_256B = 0x070A
    GOSTR34102012_256C = 0x070B
    GOSTR34102012_256D = 0x070C
    GOSTR34102012_512A = 0x070D
    GOSTR34102012_512B = 0x070E
    GOSTR34102012_512C = 0x070F
    RSA_PSS_RSAE_SHA256 = 0x0804
    RSA_PSS_RSAE_SHA384 = 0x0805
    RSA_PSS_RSAE_SHA512 = 0x0806
    ED25519 = 0x0807
    ED448 = 0x0808
    RSA_PSS_PSS_SHA256 = 0x0809
    RSA_PSS_PSS_SHA384 = 0x080A
    RSA_PSS_PSS_SHA512 = 0x080B
    ECDSA_BRAINPOOLP256R1TLS13_SHA256 = 0x081A
    ECDSA_BRAINPOOLP384R1TLS13_SHA384 = 0x081B
    ECDSA_BRAINPOOLP512R1TLS13_SHA512 = 0x081C
    MLDSA44 = 0x0904
    MLDSA65 = 0x0905
    MLDSA87 = 0x0906
    SLHDSA_SHA2_128S = 0x0911
    SLHDSA_SHA2_128F = 0x0912
    SLHDSA_SHA2_192S = 0x0913
    SLHDSA_SHA2_192F = 0x0914
    SLHDSA_SHA2_256S = 0x0915
    SLHDSA_SHA2_256F = 0x0916
    SLHDSA_SHAKE_128S = 0x0917
    SLHDSA_SHAKE_128F = 0x0918
    SLHDSA_SHAKE_192S = 0x0919
    SLHDSA_SHAKE_192F = 0x091A
    SLHDSA_SHAKE_256S = 0x091B
    SLHDSA_SHAKE_256F = 0x091C
