"""Annual disclosure and operating reports, and the operators' maximum allowed revenue (最高准许收入)."""
