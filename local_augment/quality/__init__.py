"""Quality control: per-candidate scores, dataset-wide near-duplicates, and the mix."""
