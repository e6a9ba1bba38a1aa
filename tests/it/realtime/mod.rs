//! Tests of the realtime client against the fake broker.
