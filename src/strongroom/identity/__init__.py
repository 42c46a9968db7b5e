"""Who people are: local users, groups, personal access tokens and the Actor a request acts as.

Owns passwords (argon2id) and token hashes; does not decide what anyone may do (that is `access`).
Entry points: users.create_user, tokens.issue_token, tokens.authenticate_token.
"""
