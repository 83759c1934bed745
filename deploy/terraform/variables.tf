variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-1"
}

variable "name_prefix" {
  description = "Prefix of every function, layer and role name."
  type        = string
  default     = "bootstrap-example"
}

variable "dist_dir" {
  description = <<-EOT
    Directory holding function.zip and runtime-py<X.Y>-<arch>.zip, as `make dist` writes them:
    CPython 3.9, 3.11, 3.13 and 3.14 for x86_64 and arm64, built at glibc 2.26, so the same zips
    serve provided.al2 and provided.al2023.
  EOT
  type        = string
  default     = "../../dist"
}

variable "deps_dir" {
  description = <<-EOT
    Directory holding deps-py<X.Y>-<arch>.zip for each (python, arch) the functions use, when
    with_deps_layer is true: dependency layers built for the same glibc floor (layers/README.md).
  EOT
  type        = string
  default     = "../../build/deps"
}

variable "functions" {
  description = <<-EOT
    One Lambda function per entry, all from the same function.zip. Moving a function to another
    CPU or Python changes only arch/python here: the matching runtime and deps layers follow.
  EOT
  type = map(object({
    arch    = string # x86_64 | arm64
    runtime = string # provided.al2023 | provided.al2
    python  = string # 3.9 | 3.11 | 3.13 | 3.14 (runtime-py<python>-<arch>.zip in dist_dir)
  }))
  default = {
    x86-al2023 = { arch = "x86_64", runtime = "provided.al2023", python = "3.14" }
    arm-al2023 = { arch = "arm64", runtime = "provided.al2023", python = "3.14" }
    x86-al2    = { arch = "x86_64", runtime = "provided.al2", python = "3.9" }
    arm-al2    = { arch = "arm64", runtime = "provided.al2", python = "3.13" }
  }

  validation {
    condition = alltrue([for f in values(var.functions) :
      contains(["x86_64", "arm64"], f.arch) &&
      contains(["provided.al2", "provided.al2023"], f.runtime) &&
    contains(["3.9", "3.11", "3.13", "3.14"], f.python)])
    error_message = "arch must be x86_64|arm64, runtime provided.al2|provided.al2023, python 3.9|3.11|3.13|3.14."
  }
}

variable "with_deps_layer" {
  description = "Attach the deps-py<X.Y>-<arch> layer from deps_dir after the runtime layer."
  type        = bool
  default     = false
}

variable "memory_size" {
  type    = number
  default = 256
}

variable "timeout" {
  type    = number
  default = 10
}
