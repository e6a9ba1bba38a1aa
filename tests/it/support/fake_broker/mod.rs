//! The fake MQTToT broker.
