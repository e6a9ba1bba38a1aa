//! Tests of the Instagram HTTP client against the fake Instagram.
