"""Timeline: what people said and what the bot did, per incident."""
