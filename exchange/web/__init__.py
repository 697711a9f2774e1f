"""The live market page: static files the venue serves on its websocket port (`pages`)."""
