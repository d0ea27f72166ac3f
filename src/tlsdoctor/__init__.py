"""tlsdoctor: find out why a TLS connection fails."""
