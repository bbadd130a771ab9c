/* inputs.c: the input files of a batch command, mirrored under an output folder. */
#include "app.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/mem.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int
app_inputs_add(struct app_inputs *r, const char *in, const char *out)
{
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 256;
		struct app_input *n = pv_reallocarray(r->v, ncap, sizeof(*n));
		if (n == NULL)
			return PV_ENOMEM;
		r->v = n;
		r->cap = ncap;
	}
	r->v[r->n].in = pv_strdup(in);
	r->v[r->n].out = pv_strdup(out);
	if (r->v[r->n].in == NULL || r->v[r->n].out == NULL) {
		free(r->v[r->n].in);
		free(r->v[r->n].out);
		return PV_ENOMEM;
	}
	r->n++;
	return 0;
}

/* Adds every regular file under dir (sorted, recursively) mirrored under out. */
static int
add_tree(struct app_inputs *r, const char *dir, const char *out, unsigned depth)
{
	struct dirent **names = NULL;
	int n, rc = 0;

	if (depth > 64)
		return PV_ELIMIT;
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return PV_EIO;
	for (int i = 0; i < n; i++) {
		char in_path[PATH_MAX], out_path[PATH_MAX];
		struct stat st;
		const char *name = names[i]->d_name;
		if (rc == 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
			if ((size_t)snprintf(in_path, sizeof(in_path), "%s/%s", dir, name) >= sizeof(in_path) ||
			    (size_t)snprintf(out_path, sizeof(out_path), "%s/%s", out, name) >= sizeof(out_path))
				rc = PV_ELIMIT;
			else {
				/* The entry's type from the directory itself where the file
				 * system gives it; symbolic links are never followed. */
				unsigned char t = names[i]->d_type;
				if (t == DT_UNKNOWN)
					t = lstat(in_path, &st) != 0 ? DT_UNKNOWN :
					    S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
				if (t == DT_DIR)
					rc = add_tree(r, in_path, out_path, depth + 1);
				else if (t == DT_REG)
					rc = app_inputs_add(r, in_path, out_path);
			}
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/* 1 when child is parent or inside it (both resolved). */
static int
path_inside(const char *child, const char *parent)
{
	size_t n = strlen(parent);
	return strncmp(child, parent, n) == 0 &&
	    (child[n] == '\0' || child[n] == '/' || (n == 1 && parent[0] == '/'));
}

int
app_inputs_collect(struct app_inputs *r, const char *cmd, char **paths, int npaths, const char *outdir,
    int *failed)
{
	char out_real[PATH_MAX];
	int rc;

	if (outdir == NULL) {
		/* no output: each input is listed as its own "output" */
		for (int i = 0; i < npaths; i++) {
			struct stat st;
			if (stat(paths[i], &st) != 0) {
				fprintf(stderr, "pacsvault: %s: %s: no such file or folder\n", cmd, paths[i]);
				*failed = 1;
				continue;
			}
			rc = S_ISDIR(st.st_mode) ? add_tree(r, paths[i], paths[i], 0) : app_inputs_add(r, paths[i], paths[i]);
			if (rc != 0) {
				fprintf(stderr, "pacsvault: %s: %s: cannot list: %s\n", cmd, paths[i], pv_strerror(rc));
				*failed = 1;
			}
		}
		return PV_EXIT_OK;
	}
	if (pv_mkdir_p(outdir, 0755) != 0 || realpath(outdir, out_real) == NULL) {
		fprintf(stderr, "pacsvault: %s: %s: cannot create the output folder\n", cmd, outdir);
		return PV_EXIT_FAIL;
	}
	for (int i = 0; i < npaths; i++) {
		char in_real[PATH_MAX], outp[PATH_MAX];
		struct stat st;
		const char *base;
		if (stat(paths[i], &st) != 0 || realpath(paths[i], in_real) == NULL) {
			fprintf(stderr, "pacsvault: %s: %s: no such file or folder\n", cmd, paths[i]);
			*failed = 1;
			continue;
		}
		if (S_ISDIR(st.st_mode) && path_inside(out_real, in_real))
			return app_usage_error(cmd, "the output folder %s is inside the input %s", outdir, paths[i]);
		base = strrchr(in_real, '/');
		base = base != NULL && base[1] != '\0' ? base + 1 : in_real;
		if ((size_t)snprintf(outp, sizeof(outp), "%s/%s", out_real, base) >= sizeof(outp)) {
			*failed = 1;
			continue;
		}
		rc = S_ISDIR(st.st_mode) ? add_tree(r, paths[i], outp, 0) : app_inputs_add(r, paths[i], outp);
		if (rc != 0) {
			fprintf(stderr, "pacsvault: %s: %s: cannot list: %s\n", cmd, paths[i], pv_strerror(rc));
			*failed = 1;
		}
	}
	/*
	 * Only an output path that exists already can be an input. Outputs come
	 * folder by folder: a folder that does not exist holds none of them, and
	 * is looked up once instead of once per file (1,000 failed lookups of a
	 * batch into a new folder cost several milliseconds).
	 */
	{
		char dir[PATH_MAX] = "";
		int dir_exists = 0;
		for (size_t i = 0; i < r->n; i++) {
			char in_real[PATH_MAX];
			struct stat st;
			const char *o = r->v[i].out, *slash = strrchr(o, '/');
			size_t dl = slash != NULL ? (size_t)(slash - o) : 0;
			if (dl > 0 && dl < sizeof(dir) && (strncmp(dir, o, dl) != 0 || dir[dl] != '\0')) {
				memcpy(dir, o, dl);
				dir[dl] = '\0';
				dir_exists = lstat(dir, &st) == 0;
			}
			if (dl > 0 && dl < sizeof(dir) && !dir_exists)
				continue;
			if (lstat(o, &st) == 0 && realpath(r->v[i].in, in_real) != NULL && strcmp(in_real, o) == 0)
				return app_usage_error(cmd, "an output would replace its input: %s", r->v[i].in);
		}
	}
	return PV_EXIT_OK;
}

void
app_inputs_free(struct app_inputs *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].in);
		free(r->v[i].out);
	}
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}
