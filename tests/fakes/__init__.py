"""Fake provider servers (Twilio, LINE) on loopback: real HTTP for the real SDKs."""
