"""Replication: packages flow between paired Pomona sites, chunk-verified, resumable, filtered
by stage."""
