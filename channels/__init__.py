"""Channel adapters: one folder per medium (chat, voice, sms, email), each parsing provider input in pure functions."""
