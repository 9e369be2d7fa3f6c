"""Identity: bearer tokens to Principals (Authlib/joserfc), and the Casbin authorizer."""
