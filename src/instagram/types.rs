//! placeholder, owned by the Instagram HTTP client work
