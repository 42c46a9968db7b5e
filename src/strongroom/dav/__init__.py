"""The WebDAV door: mount Strongroom as a network drive (RFC 4918 class 1 and 2)."""
