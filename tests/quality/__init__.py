"""Tests of local_augment/quality/."""
