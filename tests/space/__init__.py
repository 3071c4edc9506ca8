"""Tests of the search-space box."""
