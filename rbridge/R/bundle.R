# Where a fit's model bundle lives, and the copy of it that the fit carries, so that a
# fit saved with saveRDS() scores and prints on another machine or after the folder moved.

# Where a bundle goes when output_dir is NULL: a documented per-user folder, named by the
# time. Said once the fit is made (a failed call writes nothing there).
bundle_folder <- function(output_dir) {
  if (!is.null(output_dir)) return(output_dir)
  file.path(tools::R_user_dir("pytextpsych", "data"), "models",
            format(Sys.time(), "fit_%Y%m%d-%H%M%S"))
}

said_where <- function(fit, output_dir) {
  if (is.null(output_dir)) {
    message("The model bundle is in ", fit$bundle_path, " (pass output_dir to choose the folder)")
  }
  fit
}

# The bundle's files, read into the fit (raw vectors, as lm keeps its model frame): a
# saved fit is self-contained. About the size of the bundle (~90 MB for fp32 MiniLM-L6,
# ~23 MB for int8 only).
embed_bundle <- function(path) {
  files <- list.files(path, recursive = TRUE, all.files = TRUE)
  contents <- lapply(file.path(path, files), function(f) readBin(f, "raw", file.size(f)))
  structure(stats::setNames(contents, files),
            md5 = unname(tools::md5sum(file.path(path, "bundle.json"))))
}

# The folder to score a fit with: its bundle_path while that still holds the same bundle;
# otherwise the fit's own copy, written once per session to a temporary folder, then
# verified by Python (every file's sha256) like any bundle.
bundle_of <- function(fit) {
  json <- file.path(fit$bundle_path, "bundle.json")
  md5 <- attr(fit$bundle, "md5")
  if (is.null(md5) || (file.exists(json) && identical(unname(tools::md5sum(json)), md5))) {
    return(fit$bundle_path)
  }
  folder <- file.path(tempdir(), paste0("pytextpsych-bundle-", md5))
  if (!dir.exists(folder)) {
    message("The model bundle is no longer at ", fit$bundle_path,
            "; using the copy saved in the fit (", folder, ")")
    write_bundle_copy(fit$bundle, folder)
  }
  folder
}

write_bundle_copy <- function(files, folder) {
  names <- names(files)
  if (any(grepl("^/|(^|/)\\.\\.(/|$)", names))) {
    stop("the fit's saved bundle names a file outside its folder; it is not a pytextpsych fit",
         call. = FALSE)
  }
  staging <- paste0(folder, ".partial-", Sys.getpid())
  for (name in names) {
    dir.create(dirname(file.path(staging, name)), recursive = TRUE, showWarnings = FALSE)
    writeBin(files[[name]], file.path(staging, name))
  }
  file.rename(staging, folder)
}
