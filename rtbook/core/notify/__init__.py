"""The notification hub: deliveries of feed events to RT heads (and other recipients)
over the channels of enabled plugins (docs/notifications.md)."""
