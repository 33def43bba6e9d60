"""Package store: installer packages kept once by content, served at ``/Packages/<file>``."""
