"""The weekly reflection digest: scheduling, insights, rendering and exactly-once delivery."""
