"""Openline: a self-hosted communications platform that speaks Twilio's API."""

__version__ = "0.1.0"
