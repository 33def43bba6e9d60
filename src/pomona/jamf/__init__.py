"""Jamf Pro companion: connections to Jamf Pro servers, package pushes to Jamf Cloud (JCDS 2.0)
that resume where they stopped, deletions, and registering Pomona with Jamf Pro."""
