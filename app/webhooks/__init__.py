"""Webhook infrastructure: sealing signing secrets, and sending deliveries over HTTP with SSRF guards."""
