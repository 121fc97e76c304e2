#!/usr/bin/env bash
# Create or update the pull request's one comment that starts with MARKER; never a second copy.
# Usage: upsert_comment.sh BODY_FILE   (env: GH_TOKEN, REPO, PR_NUMBER, MARKER)
set -euo pipefail
body_file=$1
: "${REPO:?}" "${PR_NUMBER:?}" "${MARKER:?}"
[[ "$PR_NUMBER" =~ ^[0-9]+$ ]] || { echo "PR_NUMBER is not a number" >&2; exit 2; }
comment_id=$(gh api --paginate "repos/${REPO}/issues/${PR_NUMBER}/comments" \
  --jq ".[] | select(.user.type == \"Bot\" and (.body | startswith(\"${MARKER}\"))) | .id" | head -n 1)
if [ -n "$comment_id" ]; then
  gh api --method PATCH "repos/${REPO}/issues/comments/${comment_id}" -F "body=@${body_file}" >/dev/null
  echo "updated comment ${comment_id}"
else
  gh api --method POST "repos/${REPO}/issues/${PR_NUMBER}/comments" -F "body=@${body_file}" >/dev/null
  echo "created a comment"
fi
