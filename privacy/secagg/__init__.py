"""Secure aggregation (Bonawitz et al. 2017): ring encoding, PRG masks, Shamir, rounds."""
