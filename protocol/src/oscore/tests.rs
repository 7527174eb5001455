//! Unit tests of the OSCORE module.
