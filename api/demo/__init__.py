"""`provex demo`: synthetic public datasets, the processes of an embedded exchange, and a short story."""
