# timeline.awk: phase marks of one `skiff run` from
#   strace -f --seccomp-bpf -ttt -e trace=execve,clone,unshare,pivot_root,exit_group,wait4,mount,socketpair
#   (few stopping system calls, so little strace overhead)
# Prints "phase ms" lines (time since the previous mark).
function mark(name, t) { if (!(name in seen)) { seen[name] = 1; ts[++n] = t; nm[n] = name } }
{ t = $2 * 1000 }
NR == 1 { t0 = t; mark("start", t) }

/socketpair\(/ { mark("runtime process: Go start, CLI, config, state.json, cgroup mkdir+Set, devices, seal", t) }
/execve\(.*\["skiff", "init"\]/ { mark("fork+exec of `skiff init` (ld.so)", t) }
/unshare\(CLONE_NEW/ { mark("parent puts stage0 in every cgroup (cgroup.procs x11)", t) }
/clone\(.*CLONE_PARENT/ { mark("unshare(namespaces)", t) }
/mount\("", "\/", .*MS_SLAVE/ { mark("go runtime start of init, in the container", t) }
/pivot_root\(/ { mark("rootfs: mounts, /dev, pivot_root", t) }
/execve\("\/bin\/true"/ { mark("ready -> state created -> start -> execve", t) }
/wait4\(/ && /WIFEXITED/ { mark("container runs, exits, reaped", t) }
END { mark("delete: cgroups, state, exit", t); for (i = 2; i <= n; i++) printf "%s\t%.2f\n", nm[i], ts[i] - ts[i-1]; printf "total\t%.2f\n", ts[n] - ts[1] }
