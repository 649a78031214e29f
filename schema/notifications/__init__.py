"""The notifications domain: the centre, devices, preferences, sends and deliveries."""
