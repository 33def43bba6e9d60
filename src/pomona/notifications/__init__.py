"""Email notifications: people subscribe to event types; a dispatcher mails them, one mail per
event or a digest."""
