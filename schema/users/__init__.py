"""The users domain: profile, linked accounts, transactions, rewards, and ML insights about a person."""
