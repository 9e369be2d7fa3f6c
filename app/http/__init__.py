"""Plain HTTP routes and middleware (health, request ids, authentication)."""
