-- The seeded pickup point becomes a complete, clearly fictional demo (address, phone, hours), so
-- a development site works end to end; production withholds it from applicants until an admin
-- has replaced the demo address (the marker is "演示地址").
UPDATE pickup_points
   SET address = '演示市示例区样板路 100 号 1 层服务大厅（演示地址，正式使用前请在管理后台修改）',
       phone   = '010-0000 0000（演示）',
       hours   = '工作日 9:00–12:00，13:30–17:30'
 WHERE address = '请在管理后台填写自提点地址';
