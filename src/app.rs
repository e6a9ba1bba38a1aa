//! Builds everything from the config and runs it until a signal.
