"""Rule-based clause finder: segmentation, CUAD categories, red flags and a review report."""
