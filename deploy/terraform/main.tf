# Example deployment of the bootstrap custom runtime: one arch-neutral function.zip (examples/,
# handler app.handler) behind several functions that differ only in CPU, Amazon Linux
# generation and Python version. What is per arch and per Python lives in layers:
#
#   runtime-py<X.Y>-<arch>.zip  /opt/bootstrap, /opt/<arch>/runtime (libpython + stdlib),
#                               /opt/<arch>/lib (its native libraries); from `make dist` (glibc 2.26:
#                               provided.al2 and provided.al2023)
#   deps-py<X.Y>-<arch>.zip     /opt/<arch>/python (packages), /opt/<arch>/lib (their native libs);
#                               optional (with_deps_layer), from deps_dir (layers/README.md)
#
# Each (python, arch) pair used by some function gets one layer version of each kind.

locals {
  # "3.9-x86_64" => { python = "3.9", arch = "x86_64" }, for the pairs the functions use.
  layer_sets = {
    for f in values(var.functions) : "${f.python}-${f.arch}" => { python = f.python, arch = f.arch }...
  }
  layers = { for k, v in local.layer_sets : k => v[0] }

  function_zip = "${var.dist_dir}/function.zip"
}

resource "aws_lambda_layer_version" "runtime" {
  for_each = local.layers

  layer_name               = "${var.name_prefix}-runtime-py${replace(each.value.python, ".", "")}-${each.value.arch}"
  description              = "bootstrap custom runtime + CPython ${each.value.python} for ${each.value.arch}"
  filename                 = "${var.dist_dir}/runtime-py${each.key}.zip"
  source_code_hash         = filebase64sha256("${var.dist_dir}/runtime-py${each.key}.zip")
  compatible_runtimes      = ["provided.al2", "provided.al2023"]
  compatible_architectures = [each.value.arch]
}

resource "aws_lambda_layer_version" "deps" {
  for_each = var.with_deps_layer ? local.layers : {}

  layer_name               = "${var.name_prefix}-deps-py${replace(each.value.python, ".", "")}-${each.value.arch}"
  description              = "Python packages + native libraries (layers/requirements.txt) for CPython ${each.value.python} on ${each.value.arch}"
  filename                 = "${var.deps_dir}/deps-py${each.key}.zip"
  source_code_hash         = filebase64sha256("${var.deps_dir}/deps-py${each.key}.zip")
  compatible_runtimes      = ["provided.al2", "provided.al2023"]
  compatible_architectures = [each.value.arch]
}

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${var.name_prefix}-lambda"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.lambda.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_cloudwatch_log_group" "fn" {
  for_each = var.functions

  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = 7
}

resource "aws_lambda_function" "fn" {
  for_each = var.functions

  function_name    = "${var.name_prefix}-${each.key}"
  role             = aws_iam_role.lambda.arn
  filename         = local.function_zip
  source_code_hash = filebase64sha256(local.function_zip)
  handler          = "app.handler"
  runtime          = each.value.runtime
  architectures    = [each.value.arch]
  memory_size      = var.memory_size
  timeout          = var.timeout

  # Order matters only when two layers hold the same path (the later one wins): runtime first.
  layers = concat(
    [aws_lambda_layer_version.runtime["${each.value.python}-${each.value.arch}"].arn],
    var.with_deps_layer ? [aws_lambda_layer_version.deps["${each.value.python}-${each.value.arch}"].arn] : [],
  )

  environment {
    variables = {
      # MariaDB Connector/C (MySQLdb in the deps layer) loads auth plugins such as
      # caching_sha2_password (MySQL 8) from here.
      MARIADB_PLUGIN_DIR = "/opt/${each.value.arch}/lib/libmariadb3/plugin"
    }
  }

  depends_on = [aws_iam_role_policy_attachment.logs, aws_cloudwatch_log_group.fn]
}
