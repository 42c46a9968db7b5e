"""Ways in for other people: grants (collaborations), shared links with recipient proof, upload requests.

Owns who else may reach an item and how, and the throttles that guard link passwords and codes;
does not decide a single permission itself (that is `access.policy.can`). Entry points:
collaborations.grant_role, shared_links.create_shared_link, link_visits.open_shared_link, upload_requests.
"""
