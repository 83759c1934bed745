"""Returns every context attribute with its type."""


def handler(event, context):
    def described(value):
        return {"type": type(value).__name__, "value": value if isinstance(value, (str, int, type(None))) else repr(value)}

    cc = context.client_context
    identity = context.identity
    return {
        "aws_request_id": described(context.aws_request_id),
        "function_name": described(context.function_name),
        "function_version": described(context.function_version),
        "invoked_function_arn": described(context.invoked_function_arn),
        "memory_limit_in_mb": described(context.memory_limit_in_mb),
        "log_group_name": described(context.log_group_name),
        "log_stream_name": described(context.log_stream_name),
        "tenant_id": described(context.tenant_id),
        "remaining": described(context.get_remaining_time_in_millis()),
        "identity_type": type(identity).__name__,
        "cognito_identity_id": identity.cognito_identity_id,
        "cognito_identity_pool_id": identity.cognito_identity_pool_id,
        "client_context_type": type(cc).__name__,
        "client_context_custom": cc.custom if cc else None,
        "client_context_env": cc.env if cc else None,
        "client_app_title": cc.client.app_title if cc and cc.client else None,
        "has_log": callable(context.log),
    }
