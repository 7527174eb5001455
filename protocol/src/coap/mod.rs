//! CoAP messaging (RFC 7252) and block-wise transfer (RFC 7959), sans I/O.
