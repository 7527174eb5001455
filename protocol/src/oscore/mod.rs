//! OSCORE (RFC 8613), sans I/O.
