//! The network model: links with latency, bandwidth and queues, MTU, loss and outages.
