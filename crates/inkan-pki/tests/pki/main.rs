//! The integration tests of `inkan-pki`, linked as one binary (one link instead of 4).

mod common;
mod fuzz_der;
mod openssl_interop;
mod pkcs11_ca;
mod services;
