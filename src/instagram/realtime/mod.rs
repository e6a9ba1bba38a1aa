//! The Instagram MQTToT realtime client.
