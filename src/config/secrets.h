#pragma once
// Reading credentials for upstream endpoints: from an environment variable, a file, or AWS's
// usual places. Control plane only (the loader calls these on every load, so a reload re-reads
// them). Error messages name the variable or file, never the secret.
#include <string>
#include <string_view>

#include "common/result.h"
#include "config/config.h"

namespace regiongate {

// The value of environment variable `name`; an error when it is unset or empty.
Result<Secret> secretFromEnv(const std::string& name);
// The contents of `path` without trailing spaces and line breaks (at most 64 KiB); an error
// when the file is unreadable, empty or holds a line break inside the secret.
Result<Secret> secretFromFile(const std::string& path);
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and (optional) AWS_SESSION_TOKEN.
Result<AwsCredentials> awsCredentialsFromEnv();
// A profile of an AWS shared credentials file (INI: [profile] aws_access_key_id = ...,
// aws_secret_access_key = ..., optional aws_session_token = ...).
Result<AwsCredentials> awsCredentialsFromFile(const std::string& path, const std::string& profile);

}  // namespace regiongate
